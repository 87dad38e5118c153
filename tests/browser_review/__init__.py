"""The reviewer UI in a real browser."""
