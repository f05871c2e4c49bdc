"""Passerelle's static site builder: configuration, guide segmentation, catalogs, rendering."""
