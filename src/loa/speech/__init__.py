"""Speech: Vietnamese text normalisation, text-to-speech engines, the broadcast audio pipeline and store."""
