"""The one error the S3 side raises (store.py, store_delete.py, store_listing.py): what failed, and S3's code."""


class StoreError(Exception):
    """An S3 call failed; `code` is S3's error code (or the exception name)."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code
