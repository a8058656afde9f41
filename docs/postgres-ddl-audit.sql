-- collector DDL audit: run as the database owner or a superuser, in each database to audit
CREATE SCHEMA collector_audit;
CREATE TABLE collector_audit.ddl_events (
  id bigserial PRIMARY KEY,
  event_time timestamptz NOT NULL DEFAULT clock_timestamp(),
  command_tag text NOT NULL,
  object_type text,
  schema_name text,
  object_identity text,
  statement text,
  user_name name NOT NULL DEFAULT session_user
);
CREATE INDEX ON collector_audit.ddl_events (event_time);
CREATE FUNCTION collector_audit.record_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE r record;
BEGIN
  IF TG_EVENT = 'ddl_command_end' THEN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
      INSERT INTO collector_audit.ddl_events (command_tag, object_type, schema_name, object_identity, statement)
      VALUES (r.command_tag, r.object_type, r.schema_name, r.object_identity, current_query());
    END LOOP;
  ELSE
    FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() WHERE original LOOP
      INSERT INTO collector_audit.ddl_events (command_tag, object_type, schema_name, object_identity, statement)
      VALUES (TG_TAG, r.object_type, r.schema_name, r.object_identity, current_query());
    END LOOP;
  END IF;
END $$;
CREATE EVENT TRIGGER collector_audit_ddl ON ddl_command_end EXECUTE FUNCTION collector_audit.record_ddl();
CREATE EVENT TRIGGER collector_audit_drop ON sql_drop EXECUTE FUNCTION collector_audit.record_ddl();
GRANT USAGE ON SCHEMA collector_audit TO metadata_reader;
GRANT SELECT ON collector_audit.ddl_events TO metadata_reader;
