"""Patients (by pseudonym), consents, indications, prescriptions, samples, files, analyses, reports.

Each module holds the service functions for one concept; every one of them checks the acting
user's permission, runs in one transaction and writes its audit entry in that same transaction.
"""
