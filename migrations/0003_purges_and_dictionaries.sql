-- Purged logs, and zstd dictionaries per builder.
--
-- A store of this version is unreadable by older code (codec 2 needs a dictionary,
-- and a purged log keeps its num_lines with no chunks), so it says so.

-- When `compact --logs-older-than` deleted the log's text (epoch seconds), or NULL
-- while it has it. A purged log has no chunks; num_lines keeps the count it had.
-- (Logs purged before this version cannot be told from empty ones: they stay NULL.)
ALTER TABLE log ADD COLUMN purged_at INTEGER;

-- A builder's zstd dictionaries, trained by compact on a sample of its finished
-- logs. AUTOINCREMENT: an id is never given twice, so whatever caches a
-- dictionary by id is never stale. `trained_through` is the builder's newest
-- build number when it was trained (compact retrains by age in builds).
CREATE TABLE zstd_dictionary (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  builder_id INTEGER NOT NULL
    REFERENCES builder (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  trained_at INTEGER NOT NULL,
  trained_through INTEGER NOT NULL,
  bytes BLOB NOT NULL CHECK (length(bytes) > 0)
);
CREATE INDEX zstd_dictionary_builder ON zstd_dictionary (builder_id, id);

-- log_chunk again, for codec 2 (zstd with the dictionary `dictionary_id` names).
-- A CHECK cannot be altered in place: the table is copied. The reference to the
-- dictionary has no ON DELETE action, so a dictionary a chunk uses cannot be
-- deleted (the commit fails); deleting a builder deletes its chunks too.
ALTER TABLE log_chunk RENAME TO log_chunk_v2;
CREATE TABLE log_chunk (
  id INTEGER PRIMARY KEY,
  log_id INTEGER NOT NULL
    REFERENCES log (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  first_line INTEGER NOT NULL CHECK (first_line >= 0),
  last_line INTEGER NOT NULL CHECK (last_line >= first_line),
  codec INTEGER NOT NULL CHECK (codec IN (0, 1, 2)),
  raw_bytes INTEGER NOT NULL,
  content BLOB NOT NULL,
  dictionary_id INTEGER
    REFERENCES zstd_dictionary (id) DEFERRABLE INITIALLY DEFERRED,
  CHECK ((codec = 2) = (dictionary_id IS NOT NULL))
);
INSERT INTO log_chunk (id, log_id, first_line, last_line, codec, raw_bytes, content)
  SELECT id, log_id, first_line, last_line, codec, raw_bytes, content FROM log_chunk_v2;
DROP TABLE log_chunk_v2;
CREATE UNIQUE INDEX log_chunk_lines ON log_chunk (log_id, first_line);
-- Which chunks use a dictionary: what the foreign key and compact's clean-up look up.
CREATE INDEX log_chunk_dictionary ON log_chunk (dictionary_id) WHERE dictionary_id IS NOT NULL;

UPDATE meta SET value = '3' WHERE key = 'compatible_version';
