"""Clinical genome reports: the content of a version, its HTML/PDF rendering, and its exports.

``content`` holds the plain value every rendering is made from; ``html`` and ``pdf`` print it;
``phenopacket`` and ``fhir`` export it as a GA4GH Phenopacket v2 and an HL7 FHIR Genomics Reporting
bundle; ``render`` makes all of them for one report version.
"""
