"""HiveQL in: parsing, binding, statement execution, the PEP 249 API and the shell."""
