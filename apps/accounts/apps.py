from django.apps import AppConfig, apps
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_migrate


def _sync_roles_after_migrate(sender: AppConfig, **kwargs) -> None:
    # post_migrate fires once per app with models, in INSTALLED_APPS order, each creating its own permissions; the
    # last app's signal is the first moment all of them exist.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender is not with_models[-1]:
        return
    # Imported here: models cannot be imported while the app registry is still loading (ready() runs then).
    from apps.accounts.services import roles_sync

    roles_sync()


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        post_migrate.connect(_sync_roles_after_migrate, dispatch_uid="accounts_roles_sync")
        from apps.accounts.signals import login_audit, login_failed_audit

        user_logged_in.connect(login_audit, dispatch_uid="accounts_login_audit")
        user_login_failed.connect(login_failed_audit, dispatch_uid="accounts_login_failed_audit")
