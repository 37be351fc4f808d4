"""Files encrypted at rest (GA4GH Crypt4GH), the node's keys and keyed pseudonyms."""

from genomed.logs import silence_key_logging_libraries

# Importing the vault is enough to keep crypt4gh's DEBUG logging of keys silent, even for code that
# never calls configure_logging (a notebook, another service embedding genomed).
silence_key_logging_libraries()
