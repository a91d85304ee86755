"""The embedded local stack: moto in server mode, the API through the real handlers, the `crm` command."""
