"""The film itself: render settings, the final cut's assembly (fit, extend, transitions, title card,
captions) and mastered sound, all through imageio-ffmpeg's bundled ffmpeg."""
