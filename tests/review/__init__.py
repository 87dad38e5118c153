"""The reviewer UI over real HTTP."""
