"""Rendering replays to files: MP4 with sound, GIF, PNG folders, with overlays."""
