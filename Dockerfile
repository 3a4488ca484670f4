# The web image; the same image runs daphne, the Celery worker and Celery beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_ENV=production
WORKDIR /app

COPY pyproject.toml constraints.txt ./
COPY teletherapy ./teletherapy
COPY accounts ./accounts
COPY audit ./audit
COPY consent ./consent
COPY records ./records
COPY intake ./intake
COPY messaging ./messaging
COPY sessions ./sessions
COPY compliance ./compliance
COPY oversight ./oversight
COPY home ./home
COPY operations ./operations
COPY billing ./billing
COPY templates ./templates
COPY static ./static
COPY manage.py ./

# pg_dump and pg_restore for backups and the restore drill (the servers are PostgreSQL 15).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir -c constraints.txt . \
 && DJANGO_ENV=development DATA_DIR=/tmp/build STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput \
 && rm -rf /tmp/build \
 && useradd --system --home-dir /app app \
 && mkdir -p /app/data/documents /backups && chown app /app/data/documents /backups

USER app
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "teletherapy.asgi:application"]
