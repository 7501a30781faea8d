-- Several processes writing one store.
--
-- Row ids are the database's from this version on: the writer inserts a row
-- without an id and keeps the one SQLite gives it, so two writing processes never
-- collide. (A row id is never reused while its row's build is a builder's newest,
-- and compaction never deletes those.)

-- Builds per builder, kept by the database itself, so that listing the builders
-- costs O(builders) whatever the number of builds.
ALTER TABLE builder ADD COLUMN build_count INTEGER NOT NULL DEFAULT 0;
UPDATE builder SET build_count = (SELECT count(*) FROM build WHERE builder_id = builder.id);
CREATE TRIGGER build_counted AFTER INSERT ON build BEGIN
  UPDATE builder SET build_count = build_count + 1 WHERE id = NEW.builder_id;
END;
CREATE TRIGGER build_uncounted AFTER DELETE ON build BEGIN
  UPDATE builder SET build_count = build_count - 1 WHERE id = OLD.builder_id;
END;

-- Who numbers a builder's builds (see src/sql/numbering.h): the holder, a process
-- that numbers them in memory, or '' when every process numbers them through the
-- database. `wanted` is another process asking the holder to hand it over;
-- `shared_at` when a build was last numbered through the database.
CREATE TABLE numbering (
  builder_id INTEGER PRIMARY KEY
    REFERENCES builder (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  holder TEXT NOT NULL,
  wanted INTEGER NOT NULL CHECK (wanted IN (0, 1)),
  shared_at INTEGER NOT NULL
);
