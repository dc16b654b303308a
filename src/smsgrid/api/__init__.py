"""smsgrid.api"""
