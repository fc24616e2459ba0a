# The back office's image: one image, two commands (web: gunicorn; worker: manage.py qcluster).
# Untested on the machine it was written on (no docker there); see docs/deploy.md.
#
#   docker build -t backoffice .
#   docker run --env-file prod.env backoffice python manage.py migrate --noinput   # once per release
#   docker run --env-file prod.env -p 8000:8000 backoffice                          # web
#   docker run --env-file prod.env backoffice python manage.py qcluster             # worker
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GUNICORN_BIND=0.0.0.0:8000

WORKDIR /app
# WeasyPrint (invoice PDFs) loads pango and harfbuzz at run time and needs a font.
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system app && useradd --system --gid app --home-dir /app --no-create-home app

# Dependencies first, so a code change reuses this layer. The lock pins every package with its
# hash; pip refuses anything else. (It also holds the dev tools: a production-only lock is a
# follow-up that would shrink the image.)
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY --chown=app:app . .
# Static files are part of the image: hashed names and compressed copies, served by whitenoise
# (or pushed to a CDN from here). Development settings are enough to collect them.
RUN DJANGO_ENV=development python manage.py collectstatic --noinput -v0 \
    && chown -R app:app /app/staticfiles

USER app
EXPOSE 8000
# Workers from WEB_CONCURRENCY, timeouts, access log without headers: config/gunicorn.conf.py.
CMD ["gunicorn", "config.wsgi:application", "--config", "config/gunicorn.conf.py"]
