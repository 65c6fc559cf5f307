DROP TABLE lp.audit_logs CASCADE;
