"""IVRs: the tree format, its checks, and the service that saves trees and campaign flows."""
