@_exported import Circuits
