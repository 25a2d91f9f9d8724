"""Contacts: groups, CSV import, single contacts; the DNC lists beside them."""
