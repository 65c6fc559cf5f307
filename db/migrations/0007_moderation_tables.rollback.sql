DROP TABLE lp.user_sanctions CASCADE;
DROP TABLE lp.moderation_flags CASCADE;
DROP TABLE lp.reports CASCADE;
