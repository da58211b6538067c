"""Adapters to the outside world (LDAP, storage, exchange, WeCom), each behind a small interface."""
