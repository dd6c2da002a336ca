"""The S3 wire: the Store (the client, listings, the one scoped delete, StoreError), S3's botocore models
found by name (botocore_models.py), and the test customer's state as the plan and the views read it
(customer_state.py)."""
