DROP TABLE lp.password_reset_tokens CASCADE;
DROP TABLE lp.auth_sessions CASCADE;
DROP TABLE lp.user_preferences CASCADE;
DROP TABLE lp.users CASCADE;
