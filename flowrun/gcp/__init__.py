"""Google Cloud support shared by the GCS and BigQuery tasks; google.* is imported only when a task runs."""
