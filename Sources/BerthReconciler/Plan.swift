import BerthAPI
