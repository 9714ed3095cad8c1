"""Online sources: lyrics providers (LRCLIB, Genius, local files) and Spotify playlists,
over one polite HTTP client (timeouts, retries with backoff, rate limits, fast offline
failure) with a database cache of lyrics lookups."""
