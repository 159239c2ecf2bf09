"""Scale-out on Celery: the executor settings and the broker connection (celery is imported only where used)."""
