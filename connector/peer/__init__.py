"""HTTP client for peers (DSP requests with DCP tokens); the only connector module besides identity using httpx."""
