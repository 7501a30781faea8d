-- Each build's passed and failed step runs on its own row, for `buildhist flaky`.
--
-- flaky reads every step run of a builder twice: by build number (flips) and by
-- the key property's value (same-key failures). Read from the step table that is
-- a row per step and, with several builders, nearly every page of it per builder;
-- read from here it is a row per build. Kept by the database itself (the triggers
-- below), so every writer keeps it, older buildhists too: a store of this version
-- stays readable and writable by version 3.
--
-- `step_outcomes` is the concatenation, in no particular order, of one entry per
-- step of the build that ended success (0), warnings (1), failure (2) or
-- exception (4): the results code, the step name's length in bytes, ':', the name.
-- A build of steps compile (success) and test (failure) holds '07:compile24:test'
-- or '24:test07:compile'; a build without such a step holds ''.
ALTER TABLE build ADD COLUMN step_outcomes TEXT NOT NULL DEFAULT '';
UPDATE build SET step_outcomes = ifnull((
  SELECT group_concat(s.results || length(CAST(s.name AS BLOB)) || ':' || s.name, '')
  FROM step s WHERE s.build_id = build.id AND s.results IN (0, 1, 2, 4)), '');

-- A step written finished (the usual case: the writer buffers a build's steps) adds
-- its entry; a step whose results, name or build change has its build's (or both
-- builds') entries made again from the step table, as does a step deleted.
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
