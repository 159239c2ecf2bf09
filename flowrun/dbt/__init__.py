"""dbt support for the dbt task types: the venv's packages, the profile, dbt's JSON logs and node results."""
