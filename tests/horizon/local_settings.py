# Horizon 27 against Jumpgate: the settings that matter (docs/horizon.md explains each).
# scripts/horizon copies this file to openstack_dashboard/local/local_settings.py in
# .venv-horizon; Horizon's settings.py imports it after its own defaults.
#
# Read from the environment at start (scripts/horizon serve sets them):
#   JUMPGATE_KEYSTONE_URL   Jumpgate's identity endpoint, e.g. http://127.0.0.1:5000/v3
#   HORIZON_SECRET_KEY      Django's secret key (a fresh one per run is fine)
#   HORIZON_DEBUG=1         Django's debug pages (tracebacks) instead of Horizon's 500 page
import os

DEBUG = os.environ.get("HORIZON_DEBUG", "") not in ("", "0")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
SECRET_KEY = os.environ.get("HORIZON_SECRET_KEY") or "jumpgate-horizon-not-secret"

# Jumpgate serves Keystone v3 at its root: the catalog it returns names every other
# service, so this one URL is all Horizon needs.
OPENSTACK_KEYSTONE_URL = os.environ.get("JUMPGATE_KEYSTONE_URL", "http://127.0.0.1:5000/v3")
OPENSTACK_KEYSTONE_DEFAULT_DOMAIN = "Default"
OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"
OPENSTACK_ENDPOINT_TYPE = "publicURL"
OPENSTACK_SSL_NO_VERIFY = False

# No memcached: Horizon's settings.py defaults to memcached for both the cache and the
# sessions. One Horizon process keeps both in its own memory.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    },
}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"

# Static files are collected and compressed once, when the venv is made (scripts/horizon:
# `collectstatic` and `compress` into the venv's site-packages/static, Horizon's default
# STATIC_ROOT), so that no page compiles SCSS when first shown.
COMPRESS_OFFLINE = True

# Uploads go through Horizon (the browser posts the file to Django, which streams it to
# Glance): `direct` mode would need CORS on Glance's endpoint.
HORIZON_IMAGES_UPLOAD_MODE = "legacy"

# Jumpgate's Block Storage serves backups; Horizon shows its Backups panel and the volumes'
# Create Backup action only when told (Cinder does not say whether a backup service runs).
OPENSTACK_CINDER_FEATURES = {"enable_backup": True}

TIME_ZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("HORIZON_LOG_LEVEL", "INFO")},
    "loggers": {
        # One line per request that Horizon sends to Jumpgate, with its status.
        "keystoneauth": {"level": "INFO"},
        "django.server": {"level": "INFO"},
        "django.template": {"level": "INFO"},
        "py.warnings": {"level": "ERROR"},
    },
}
