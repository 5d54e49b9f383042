"""Registry integrations: which registries Lookout may contact, with which credentials, and their webhooks."""
