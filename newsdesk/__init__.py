"""newsdesk: feeds in, searchable and alertable knowledge out."""
