@_exported import Interp
