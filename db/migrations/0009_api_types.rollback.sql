DROP TYPE api.password_change_result CASCADE;
DROP TYPE api.reset_request CASCADE;
DROP TYPE api.authenticated CASCADE;
DROP TYPE api.login_result CASCADE;
DROP TYPE api.session_info CASCADE;
DROP TYPE api.user_account CASCADE;
