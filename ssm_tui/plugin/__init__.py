"""The session plugin: starting a plugin process, and our own data-channel protocol client."""
