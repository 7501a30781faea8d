-- The current schema of a buildhist store (version 4), as every migration in
-- migrations/ leaves it (made by `sqlite3 STORE .schema` on a new store: a column
-- that a migration added sits where ALTER TABLE puts it; SQLite's own
-- sqlite_sequence, which AUTOINCREMENT makes, is left out, since SQL cannot
-- create it). tests/schema_test.cc proves the two agree; change both together.

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE builder (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE CHECK (length(name) > 0)
, build_count INTEGER NOT NULL DEFAULT 0);

CREATE TABLE build (
  id INTEGER PRIMARY KEY,
  builder_id INTEGER NOT NULL
    REFERENCES builder (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  number INTEGER NOT NULL CHECK (number >= 1),
  worker TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  complete_at INTEGER,
  state_string TEXT NOT NULL,
  results INTEGER CHECK (results BETWEEN 0 AND 6), step_outcomes TEXT NOT NULL DEFAULT '',
  UNIQUE (builder_id, number)
);

CREATE INDEX build_started ON build (builder_id, started_at);

CREATE INDEX build_complete ON build (complete_at);

CREATE TABLE build_property (
  build_id INTEGER NOT NULL
    REFERENCES build (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  name TEXT NOT NULL,
  value TEXT NOT NULL,  -- JSON
  source TEXT NOT NULL,
  PRIMARY KEY (build_id, name)
) WITHOUT ROWID;

CREATE INDEX build_property_value ON build_property (name, value);

CREATE TABLE step (
  id INTEGER PRIMARY KEY,
  build_id INTEGER NOT NULL
    REFERENCES build (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  number INTEGER NOT NULL CHECK (number >= 0),
  name TEXT NOT NULL,
  started_at INTEGER,
  complete_at INTEGER,
  state_string TEXT NOT NULL,
  results INTEGER CHECK (results BETWEEN 0 AND 6),
  urls TEXT NOT NULL,  -- JSON array of {"name": ..., "url": ...}
  hidden INTEGER NOT NULL CHECK (hidden IN (0, 1)),
  UNIQUE (build_id, number),
  UNIQUE (build_id, name)
);

CREATE TABLE log (
  id INTEGER PRIMARY KEY,
  step_id INTEGER NOT NULL
    REFERENCES step (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  slug TEXT NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('s', 't', 'h')),
  num_lines INTEGER NOT NULL CHECK (num_lines >= 0),
  complete INTEGER NOT NULL CHECK (complete IN (0, 1)), purged_at INTEGER,
  UNIQUE (step_id, slug),
  UNIQUE (step_id, name)
);

CREATE TRIGGER build_counted AFTER INSERT ON build BEGIN
  UPDATE builder SET build_count = build_count + 1 WHERE id = NEW.builder_id;
END;

CREATE TRIGGER build_uncounted AFTER DELETE ON build BEGIN
  UPDATE builder SET build_count = build_count - 1 WHERE id = OLD.builder_id;
END;

CREATE TRIGGER step_outcome_added AFTER INSERT ON step WHEN NEW.results IN (0, 1, 2, 4) BEGIN
  UPDATE build SET step_outcomes = step_outcomes || NEW.results ||
    length(CAST(NEW.name AS BLOB)) || ':' || NEW.name WHERE id = NEW.build_id;
END;

CREATE TRIGGER step_outcome_changed AFTER UPDATE OF build_id, name, results ON step
  WHEN OLD.results IS NOT NEW.results OR OLD.name IS NOT NEW.name
    OR OLD.build_id IS NOT NEW.build_id BEGIN
  UPDATE build SET step_outcomes = ifnull((
    SELECT group_concat(s.results || length(CAST(s.name AS BLOB)) || ':' || s.name, '')
    FROM step s WHERE s.build_id = build.id AND s.results IN (0, 1, 2, 4)), '')
  WHERE id IN (OLD.build_id, NEW.build_id);
END;

CREATE TRIGGER step_outcome_removed AFTER DELETE ON step WHEN OLD.results IN (0, 1, 2, 4) BEGIN
  UPDATE build SET step_outcomes = ifnull((
    SELECT group_concat(s.results || length(CAST(s.name AS BLOB)) || ':' || s.name, '')
    FROM step s WHERE s.build_id = build.id AND s.results IN (0, 1, 2, 4)), '')
  WHERE id = OLD.build_id;
END;

CREATE TABLE numbering (
  builder_id INTEGER PRIMARY KEY
    REFERENCES builder (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  holder TEXT NOT NULL,
  wanted INTEGER NOT NULL CHECK (wanted IN (0, 1)),
  shared_at INTEGER NOT NULL
);

CREATE TABLE zstd_dictionary (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  builder_id INTEGER NOT NULL
    REFERENCES builder (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  trained_at INTEGER NOT NULL,
  trained_through INTEGER NOT NULL,
  bytes BLOB NOT NULL CHECK (length(bytes) > 0)
);

CREATE INDEX zstd_dictionary_builder ON zstd_dictionary (builder_id, id);

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

CREATE UNIQUE INDEX log_chunk_lines ON log_chunk (log_id, first_line);

CREATE INDEX log_chunk_dictionary ON log_chunk (dictionary_id) WHERE dictionary_id IS NOT NULL;
