RTSTretrotool test game - a tiny deterministic ROM for the testcore.
