"""Alembic migrations of the lab database, shipped inside the package.

To change the schema: edit harness/results/models.py, add the next file in versions/ (revision =
the next number, down_revision = the previous one) with the matching op.* calls, and set HEAD in
harness/results/db.py. tests/test_results_db.py checks that HEAD is Alembic's head and that a
migrated database matches the models.
"""
