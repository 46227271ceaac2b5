-- Undo of V2__add_trade_note.sql: the sandbox's rollback migration for runbooks/schema-rollback.yaml.
ALTER TABLE trades DROP COLUMN note;
