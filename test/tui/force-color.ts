// Imported first by tests that assert colours: chalk (inside ink) reads this when it loads.
process.env.FORCE_COLOR = '1';
