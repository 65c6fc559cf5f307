DROP TABLE lp.settings CASCADE;
DROP FUNCTION lp.reject_mutation();
DROP FUNCTION lp.touch_updated_at();
