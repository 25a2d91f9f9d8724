"""Audio: uploads and TTS become the WAV files Asterisk plays."""
