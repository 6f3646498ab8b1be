"""Form-aware machine translation: pure logic behind the `Translator` port (no MT engines here)."""
