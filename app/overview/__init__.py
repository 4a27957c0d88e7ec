"""The dashboard home: where the organisation's casework and its re-users stand."""
