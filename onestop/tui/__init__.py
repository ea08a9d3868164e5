"""The desk: the clerk's terminal application (Textual). Talks only to services."""
