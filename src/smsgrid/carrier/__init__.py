"""smsgrid.carrier"""
