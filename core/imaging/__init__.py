"""Image operations on dB arrays that every stage shares: Otsu threshold, speckle, connected regions."""
