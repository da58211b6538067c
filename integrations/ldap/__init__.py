"""LDAP/AD directory: sync of agencies, departments, people and roles (sync.py) and login (backend.py).

docs/ldap.md describes the directory layout this package expects.
"""
