"""System libraries found, not guessed: ELF scan of the locked wheels → Debian packages →
`.deb` files for the image's system-package layer (docs/system-packages.md)."""
